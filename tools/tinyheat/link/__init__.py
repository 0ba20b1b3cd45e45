"""USB serial link to the Wio Terminal: protocol codec (``protocol``), device client (``client``),
radiometric recordings (``recording``), dataset capture (``capture``) and the live monitor
(``monitor``). Spec: ``firmware/lib/tinyheat_link/PROTOCOL.md``."""
