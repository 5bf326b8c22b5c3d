"""The web face for the front desk (`handout serve`): pages over the same service layer the command line uses."""
