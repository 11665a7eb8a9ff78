"""The stores behind one interface (:mod:`.api`): the embedded Oxigraph store, a remote
SPARQL 1.1 store, and what writes or reads a whole store (writer, lease, dumps, export)."""
