/*
 * prompthold.c - prompts held until the relay has synced (prompthold.h).
 */
#include <stdlib.h>

#include "pbx/prompthold.h"
#include "util/list.h"
#include "util/log.h"

struct prompt_holds {
	struct rtp_engine *rtp;
	struct prompt_cache *prompts;
	struct list_node held;
};

struct hold {
	struct prompt_holds *h;
	const struct prompt *p;
	struct list_node le;
};

struct prompt_holds *prompt_holds_alloc(struct rtp_engine *rtp,
					struct prompt_cache *prompts)
{
	struct prompt_holds *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->rtp = rtp;
	h->prompts = prompts;
	list_init(&h->held);
	return h;
}

static void synced(void *arg)
{
	struct hold *e = arg;

	list_unlink(&e->le);
	prompt_release(e->h->prompts, e->p);
	free(e);
}

void prompt_holds_release(struct prompt_holds *h, const struct prompt *p)
{
	struct hold *e = calloc(1, sizeof(*e));

	if (!e) {
		/* Out of memory: keeping the prompt forever beats freeing
		 * audio a worker may still be sending. */
		return;
	}
	e->h = h;
	e->p = p;
	list_push_back(&h->held, &e->le);
	if (rtp_engine_sync(h->rtp, synced, e))
		log_event(LOG_WARN, "prompt_release_deferred", "path=%s", p->path);
}

void prompt_holds_free(struct prompt_holds *h)
{
	struct list_node *it, *tmp;

	if (!h)
		return;
	list_foreach_safe(it, tmp, &h->held) {
		struct hold *e = list_entry(it, struct hold, le);

		prompt_release(h->prompts, e->p);
		free(e);
	}
	free(h);
}
