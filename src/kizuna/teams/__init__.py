"""Microsoft Teams: playbook messages as Adaptive Cards posted to a channel's incoming webhook (Workflows), whose
buttons open signed kizuna links that snooze or complete the task."""
