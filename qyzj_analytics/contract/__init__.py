"""The contract as data: the model and loader, and the contract YAML files (a renewal is a new file)."""
