"""The ``kehu`` command: Django's management commands plus Kehu's own (demo, serve, worker, …)."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] == "demo":
        # The demo is a local trial: DEBUG on (static files from the apps, no collectstatic).
        # It has to be set before the settings module is imported.
        os.environ["KEHU_DEBUG"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
