"""`caseledger audit`: verify trails, logs and evidence without trusting any node."""
