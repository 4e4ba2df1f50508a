"""One module per remediation family. Importing this package registers them all."""
