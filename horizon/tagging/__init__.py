"""The learned tagger: feature rows from an item's embedding and the catalogue's rules
(`features`), linear heads trained and chosen by cross-validation (`training`), stored in the
repository (`model.npz`) and retrained per home from analysts' verdicts (`home`)."""
