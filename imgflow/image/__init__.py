"""The image kernel: pure image logic (opening untrusted bytes, colour, geometry, JPEG scales,
pixel budgets). Nothing here knows of AWS."""
