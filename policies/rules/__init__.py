"""Rule families of the mlplatform policy pack, one module each."""
