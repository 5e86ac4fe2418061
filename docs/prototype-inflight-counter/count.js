// In-flight requests per color: +1 when the proxied request is built (proxy_set_header evaluates $bgc_start),
// -1 in the log phase (log_format evaluates $bgc_end), which runs for every request, aborted or not.
function start(r) {
    ngx.shared.bgc.incr('inflight_' + r.variables.bgc_color, 1, 0);
    ngx.shared.bgc.incr('started', 1, 0);
    return '1';
}
function end(r) {
    // only requests that reached an upstream: those whose proxied request was built (start ran)
    if (r.variables.upstream_addr) {
        ngx.shared.bgc.incr('inflight_' + r.variables.bgc_color, -1, 0);
        ngx.shared.bgc.incr('ended', 1, 0);
    }
    return '';
}
function show(r) {
    const d = ngx.shared.bgc, out = {};
    d.keys().forEach(function (k) { out[k] = d.get(k); });
    r.return(200, JSON.stringify(out) + '\n');
}
export default {start, end, show};
