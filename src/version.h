/* version.h - the product version, printed by -V and logged at start-up. */
#ifndef KV_VERSION_H
#define KV_VERSION_H

#define KV_VERSION "0.1.0"

#endif
