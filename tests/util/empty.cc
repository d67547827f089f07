// Keeps r1testutil non-empty before any helpers exist.
