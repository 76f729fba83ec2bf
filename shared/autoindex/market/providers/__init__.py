"""Market-data providers: the protocol, Twelve Data, the demo generator, the credit budget, the circuit."""
