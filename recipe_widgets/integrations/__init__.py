"""The watch inside other people's training loops: ``integrations.lightning`` and
``integrations.transformers``, each an optional extra, each imported only when asked for."""
