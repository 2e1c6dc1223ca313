"""Pulumi ComponentResources: ``AksWebservice``, ``AksEndpoint``, their args, and the emitter."""
