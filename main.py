"""The quickest start: migrate the embedded SQLite database, then serve on 127.0.0.1:8000."""

import sys

from tenantflow.cli import main

if __name__ == "__main__":
    status = main(["migrate"])
    if status == 0:
        status = main(["serve", "--host", "127.0.0.1", "--port", "8000"])
    sys.exit(status)
