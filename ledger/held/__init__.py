"""What a node holds: its authored and received events as one (`events`), and
following a log from a position (`following`)."""
