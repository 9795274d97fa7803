"""What applies to the organisation and how ready it is: obligations by control from the
instrument catalogue, matched to organisation.yaml, with a status from triage and flags; and a
supplier watch matching vendor changes to inventory.yaml."""
