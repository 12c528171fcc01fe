// Tasks reassigned in place (tasks/_actions.html): the team is written once per page in <template
// id="task-owner-options"> and copied into a row's reassign menu when it opens (600 CSMs in every row would weigh
// megabytes). A separate file because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-owner-menu]") || !menu.open) { return; }
    var select = menu.querySelector("select[data-owner-options]");
    var source = document.getElementById("task-owner-options");
    if (!select || !source || select.dataset.filled) { return; }
    select.appendChild(source.content.cloneNode(true));
    select.value = select.dataset.current || "";
    select.dataset.filled = "1";
  }, true);
})();
