"""Model manifests, architectures and loaders; every model maps [0, 1] inputs to logits."""

from certify_core.models.loading import LoadedModel, load_model, sha256_file
from certify_core.models.manifest import ModelManifest, Normalization

__all__ = ["LoadedModel", "ModelManifest", "Normalization", "load_model", "sha256_file"]
