"""Tests against the three-node Cassandra cluster (marker `cassandra_cluster`)."""
