{
  # Our own Node-API addon, compiled from peer_identity.c at install (scripts/build-native.mjs).
  # Plain C against node_api.h: no node-addon-api, no extra package.
  "targets": [
    {
      "target_name": "peer_identity",
      "sources": ["peer_identity.c"],
      "cflags": ["-Wall", "-Wextra"]
    }
  ]
}
