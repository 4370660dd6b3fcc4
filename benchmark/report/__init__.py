"""Reports: result records -> tables and figures. Reads the result store only, never training code."""
