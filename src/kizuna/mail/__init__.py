"""E-mail in: customers' messages (.eml, .mbox, a folder of them) read into activities and VoC entries."""
