/* tinyheat USB serial link: host commands -> th_app.h. See th_link_app.h. */
#include "th_link_app.h"

#include <string.h>

static int status_of(int err)
{
    return err == TH_APP_OK ? TH_LINK_ST_OK : err == TH_APP_EBUSY ? TH_LINK_ST_REFUSED : TH_LINK_ST_BAD_ARG;
}

static th_app_t *app_of(void *ctx)
{
    return ctx ? ((th_link_app_ctx_t *)ctx)->app : NULL;
}

static int cb_set_mode(void *ctx, uint8_t mode)
{
    th_app_t *app = app_of(ctx);
    return app ? status_of(th_app_cmd_set_mode(app, mode)) : TH_LINK_ST_REFUSED;
}

static int cb_capture(void *ctx, const char *label)
{
    th_app_t *app = app_of(ctx);
    if (!app)
        return TH_LINK_ST_REFUSED;
    if (label[0] == '\0')
        label = app->store.labels.name[0]; /* "current label" = key A's */
    return status_of(th_app_cmd_capture(app, label));
}

static int cb_set_labels(void *ctx, const char (*labels)[TH_LINK_LABEL_CAP], int n)
{
    th_app_t *app = app_of(ctx);
    const char *v[TH_NUM_KEYS];
    if (!app)
        return TH_LINK_ST_REFUSED;
    if (n < 1 || n > TH_NUM_KEYS)
        return TH_LINK_ST_REFUSED; /* three keys */
    for (int k = 0; k < TH_NUM_KEYS; k++)
        v[k] = k < n ? labels[k] : app->store.labels.name[k]; /* fewer than 3: keep the rest */
    return status_of(th_app_cmd_set_labels(app, v[0], v[1], v[2]));
}

static int cb_set_rate(void *ctx, uint8_t code)
{
    th_app_t *app = app_of(ctx);
    return app ? status_of(th_app_cmd_set_refresh(app, code)) : TH_LINK_ST_REFUSED;
}

static void cb_status(void *ctx, th_link_hello_t *h)
{
    th_link_app_ctx_t *c = ctx;
    th_app_t *app = app_of(ctx);
    if (!c)
        return;
    if (c->fw_version) {
        strncpy(h->fw_version, c->fw_version, sizeof h->fw_version - 1);
        h->fw_version[sizeof h->fw_version - 1] = '\0';
    }
    h->emissivity = c->emissivity;
    h->n_model = 0;
    for (int i = 0; i < c->n_model && i < TH_LINK_MAX_LABELS; i++) {
        strncpy(h->model_labels[i], c->model_labels[i], TH_LINK_LABEL_CAP - 1);
        h->model_labels[i][TH_LINK_LABEL_CAP - 1] = '\0';
        h->n_model = (uint8_t)(i + 1);
    }
    if (!app)
        return;
    h->mode = (uint8_t)app->mode;
    h->rate_code = app->refresh_code;
    h->session = app->store.session;
    h->n_capture = TH_NUM_KEYS;
    for (int k = 0; k < TH_NUM_KEYS; k++)
        memcpy(h->capture_labels[k], app->store.labels.name[k], TH_LINK_LABEL_CAP);
    h->current = 0;
    if (c->stats)
        c->stats(c->owner, h);
    if (h->has_stats && c->rows && c->cols) {
        h->has_identity = 1;
        h->rows = c->rows;
        h->cols = c->cols;
        strncpy(h->model_id, c->model_id ? c->model_id : "", sizeof h->model_id - 1);
        h->model_id[sizeof h->model_id - 1] = '\0';
    }
}

static const uint16_t *cb_eeprom(void *ctx)
{
    th_link_app_ctx_t *c = ctx;
    return (c && c->eeprom) ? c->eeprom(c->owner) : NULL;
}

static const th_link_commands_t k_cmds = {cb_set_mode, cb_capture, cb_set_labels, cb_set_rate, cb_status, cb_eeprom};

const th_link_commands_t *th_link_app_commands(void)
{
    return &k_cmds;
}
