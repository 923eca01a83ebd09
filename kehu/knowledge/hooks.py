"""What higher apps add to the public help-centre pages (the bot registers its chat widget here,
so the knowledge base never imports the bot)."""

HELP_WIDGETS: list[str] = []  # template names, included at the end of every help-centre page


def register_help_widget(template: str) -> None:
    if template not in HELP_WIDGETS:
        HELP_WIDGETS.append(template)
