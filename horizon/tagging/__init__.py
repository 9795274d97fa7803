"""The learned tagger: feature rows from an item's embedding and the catalogue's rules
(`features`), linear heads (`heads`) chosen by cross-validation and calibrated (`training`,
`calibration`) on labelled examples (`examples`), stored in the repository (`model.npz`) and
retrained per home from analysts' verdicts (`home`)."""
