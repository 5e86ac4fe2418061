// Served color for `switch: shared-dict` (see FINDINGS.md).
//
// The color nginx serves lives in the shared dictionary `bluegreen` (one copy for all
// workers, kept across `nginx -s reload`, lost on restart). When the dictionary holds no
// color, the upstream file's `js_var $bg_default_color <color>;` decides, so a restart
// comes up on the color the file names.

const COLORS = ['blue', 'green'];

// js_set $bg_color bluegreen.color; -- evaluated at most once per request, when the
// map/proxy_pass first reads $bg_color.
function color(r) {
    const served = ngx.shared.bluegreen.get('color');
    return served !== undefined ? served : r.variables.bg_default_color;
}

function state(r) {
    const served = ngx.shared.bluegreen.get('color');
    return {
        color: served !== undefined ? served : r.variables.bg_default_color,
        source: served !== undefined ? 'dict' : 'file',
        file_color: r.variables.bg_default_color,
        pid: process.pid,
    };
}

function reply(r, code, obj) {
    r.headersOut['Content-Type'] = 'application/json';
    r.return(code, JSON.stringify(obj) + '\n');
}

// location = /color on the admin socket only:
//   GET             -> {"color", "source": "dict"|"file", "file_color", "pid"}
//   PUT <color>     -> sets the served color; answers the new state plus "previous"
//   DELETE          -> empties the dictionary: the file's color is served again
function admin(r) {
    const dict = ngx.shared.bluegreen;
    if (r.method === 'GET') {
        return reply(r, 200, state(r));
    }
    if (r.method === 'PUT' || r.method === 'POST') {
        const wanted = (r.requestText || '').trim();
        if (!COLORS.includes(wanted)) {
            return reply(r, 400, { error: `color must be one of ${COLORS.join(', ')}`, got: wanted });
        }
        const previous = state(r).color;
        dict.set('color', wanted);
        const now = state(r);
        now.previous = previous;
        return reply(r, 200, now);
    }
    if (r.method === 'DELETE') {
        dict.delete('color');
        return reply(r, 200, state(r));
    }
    r.headersOut['Allow'] = 'GET, PUT, DELETE';
    return reply(r, 405, { error: 'method not allowed' });
}

export default { color, admin };
