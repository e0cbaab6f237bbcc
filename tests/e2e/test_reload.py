"""SIGHUP reload: settings that take effect only at start-up make the whole reload refused,
so the file and the running gateway never disagree silently."""
import time


def test_reload_refused_when_tls_turned_off(make_gateway):
    g = make_gateway()
    key = g.apikey()
    text = open(g.config).read()
    # Turn TLS off and, in the same edit, change a reloadable setting.
    g.edit_config("policy:\n  extraction_params: reject\n", tls=False)
    assert open(g.config).read() != text
    g.proc.send_signal(1)
    time.sleep(0.5)
    # Still TLS, and the policy change did not apply either.
    assert g.chat(key, logprobs=True)[0] == 200
    proc = g.proc
    g.stop()
    err = proc.stderr.read()
    assert "reload refused" in err and "listen.tls.enabled" in err, err

def test_reload_refused_names_the_key(make_gateway):
    g = make_gateway(start=False)
    g.start()
    key = g.apikey()
    text = open(g.config).read()
    open(g.config, "w").write(text.replace("state_db: state.db", "state_db: other.db"))
    g.proc.send_signal(1)
    time.sleep(0.5)
    assert g.chat(key)[0] == 200
    proc = g.proc
    g.stop()
    err = proc.stderr.read()
    assert "reload refused" in err and "state_db" in err, err
