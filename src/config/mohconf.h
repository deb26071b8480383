/*
 * mohconf.h - musiconhold.conf, read as Asterisk's res_musiconhold reads
 * it, into the configuration's classes (struct cfg_moh_class, config.h).
 *
 *   [general]                 cachertclasses, preferchannelclass: warned
 *   [default]                 a class
 *   mode=files                the only mode KubeVox plays; playlist, custom,
 *                             mp3... are warned about and the class left out
 *   directory=moh             relative to asterisk.conf's astdatadir
 *   sort=alpha|random|randstart
 *
 * A class without mode or directory, a directory that cannot be opened and
 * an unknown sort are errors (file:line); options Asterisk has and KubeVox
 * does not (digit, announcement, format...) one warning each.  A directory
 * without a playable file is a warning, as Asterisk drops such a class.
 */
#ifndef KV_CONFIG_MOHCONF_H
#define KV_CONFIG_MOHCONF_H

#include <stdbool.h>

#include <stddef.h>

#include "config/config.h"

/* The reader itself, mohconf_load(), is load.h's (private to config/). */

/* The class of that name (case-insensitive, as Asterisk); NULL when none. */
const struct cfg_moh_class *config_moh_class(const struct kv_config *cfg,
					     const char *name);

/* A file name music on hold plays: a sound file of a format KubeVox reads
 * (.ulaw .alaw .wav .gsm), not hidden.  ext gets the extension's offset. */
bool mohconf_playable(const char *name, size_t *ext);

#endif
