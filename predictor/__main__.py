import sys

from predictor.interfaces.cli import main

sys.exit(main())
