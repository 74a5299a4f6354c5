"""Channel adapters at the edge: provider payloads in, one Inbound type; Outbound out."""
