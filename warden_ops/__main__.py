import sys

from warden_ops.cli import main

sys.exit(main())
