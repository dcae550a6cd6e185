import sys

from aeroops.cli.main import main

sys.exit(main())
