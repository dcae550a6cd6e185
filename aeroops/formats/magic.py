"""The magic bytes that tell the archive layers apart (RFC 8878 for zstd, age-encryption.org/v1):
in a module of their own, so that the layer readers and the sniffer share them without a loop."""

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZSTD_SKIPPABLE = range(0x184D2A50, 0x184D2A60)  # the first four bytes of a skippable frame, little-endian
AGE_MAGIC = b"age-encryption.org/v1\n"
AGE_ARMOR_MAGIC = b"-----BEGIN AGE ENCRYPTED FILE-----"
