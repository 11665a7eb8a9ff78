"""The composition root and the long-running process: the ``meahub`` command, the runtime,
the server and its scheduler, status, terminal reports, the demo and the admin client."""
