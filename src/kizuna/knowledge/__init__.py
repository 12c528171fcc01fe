"""Knowledge base: playbook library, FAQ articles and account notes, searchable in Japanese and English."""
