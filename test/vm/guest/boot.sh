#!/bin/bash
# Runs in the VM from hrvm.service, with the payload disk mounted at /opt/hrvm: puts node and the project
# where the README's command lines expect them, then hands over to the suite runner.
set -euo pipefail
ln -sfn /opt/hrvm/headroom /opt/headroom
ln -sf /opt/hrvm/node /usr/local/bin/node
cat >/usr/local/bin/headroom <<'WRAPPER'
#!/bin/sh
exec /usr/local/bin/node /opt/headroom/bin/headroom.cjs "$@"
WRAPPER
chmod 0755 /usr/local/bin/headroom
exec /bin/bash /opt/headroom/test/vm/guest/run-suite.sh
