"""One construct per concern; `infra.stack` composes them and does the cross-construct wiring (grants)."""
