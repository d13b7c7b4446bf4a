// liblz4 block API, for the journal's row and snapshot payloads. Debian: liblz4-dev.
#include <lz4.h>
