"""The `newsstand` command: Django's management commands under our own name, so
`newsstand migrate`, `newsstand createsuperuser` and our own `run`, `serve`, `worker`,
`fetch`, `feeds` all work the same way."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsstand.settings")
    # Tokenizer threads would fight the model for this machine's cores (see DESIGN.md).
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # numpy's vector scans are one query vector against the index (bench/intel_speed.py):
    # BLAS threads gain nothing there and, on a busy machine, made a 10k scan 2-4x slower.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["newsstand", *sys.argv[1:]])


if __name__ == "__main__":
    main()
