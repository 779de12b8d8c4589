# Run in each guest of the two-node lab (lab/vm/two-node) by lab-provision
# (and, with ROLE=nfs-server in node.env, on the lab's NFS server), from
# the host's second disk (node.env, the .deb, the cluster's key,
# configuration and BMC password files). On the first boot it sets the
# links' addresses, installs the package with dpkg, puts the files where the
# README's "Install on two servers" says, checks the configuration and the
# BMCs (`paceline fence check`), and runs `systemctl enable --now pacelined`;
# on a later boot (the VM powered on again through its BMC) it only sets the
# addresses: pacelined is enabled and starts by itself.
#
# Then it serves the host on the second serial port (ttyS1): each line
# "ID COMMAND" runs COMMAND with bash and answers "OUT ID line" per output
# line and "END ID rc". Progress lines on the console start with "LAB: ".
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
cd /mnt/lab
. ./node.env

say() { echo "LAB: $*"; }
say "uptime $(cut -d' ' -f1 /proc/uptime) s at provisioning ($NODE)"
hostname "$NODE"
ip link set lo up
ip addr add "$LINK0/24" dev eth0
ip addr add "$LINK1/24" dev eth1
ip link set eth0 up
ip link set eth1 up

if [ "${ROLE:-node}" = nfs-server ]; then
    # The two-node lab's shared storage (issue 20's scenario 4): this VM
    # only exports /export/app over NFS to both links; the cluster mounts it
    # on its active node (builtin:filesystem, fstype nfs4).
    mkdir -p /export/app
    chmod 0777 /export/app
    echo '/export/app 198.18.0.0/23(rw,sync,no_root_squash,no_subtree_check)' >/etc/exports
    if systemctl start nfs-server.service && exportfs -ra; then
        say "nfs exported: $(exportfs -v | tr -s ' \t\n' ' ')"
    else
        say "FAIL nfs-server"
        journalctl -u nfs-server.service --no-pager | tail -n 20 | sed 's/^/LAB:   /'
    fi
elif ! dpkg-query -W -f='${Status}' paceline 2>/dev/null | grep -q 'install ok installed'; then
    if dpkg -i ./paceline.deb >/tmp/dpkg.log 2>&1; then
        say "deb installed $(dpkg-query -W -f='${Version}' paceline) at $(cut -d' ' -f1 /proc/uptime) s"
    else
        say "FAIL dpkg -i"
        sed 's/^/LAB:   /' /tmp/dpkg.log
    fi
    install -m 0600 authkey /etc/paceline/authkey
    install -m 0644 cluster.toml /etc/paceline/cluster.toml
    # The BMCs' password files (the two-node lab's; the three-node lab
    # fences by watchdog only and has none).
    for pass in bmc-*.pass; do
        [ -e "$pass" ] && install -m 0600 "$pass" "/etc/paceline/$pass"
    done
    install -m 0644 app-worker.service /etc/systemd/system/app-worker.service
    # The full stack's database: this node's copy of the lab's one initdb
    # (the cluster runs it, ocf:paceline:pgsql; see lab/vm/two-node).
    if [ -e pgdata.tar ]; then
        mkdir -p /var/lib/postgresql/sock
        tar -xf pgdata.tar -C /var/lib/postgresql
        mv /var/lib/postgresql/data /var/lib/postgresql/lab
        chown -R postgres:postgres /var/lib/postgresql/lab /var/lib/postgresql/sock
        chmod 0700 /var/lib/postgresql/lab
        say "pgdata in place"
    fi
    systemctl daemon-reload
    if paceline config check /etc/paceline/cluster.toml >/tmp/check.log 2>&1; then
        say "config check ok"
    else
        say "FAIL config check"
        sed 's/^/LAB:   /' /tmp/check.log
    fi
    if paceline fence check >/tmp/fence-check.log 2>&1; then
        say "fence check ok"
    else
        say "FAIL fence check"
        sed 's/^/LAB:   /' /tmp/fence-check.log
    fi
    if systemctl enable --now pacelined.service >/dev/null 2>&1; then
        say "started $(systemctl is-active pacelined.service) at $(cut -d' ' -f1 /proc/uptime) s"
    else
        say "FAIL systemctl enable --now pacelined"
        journalctl -u pacelined.service --no-pager | tail -n 20 | sed 's/^/LAB:   /'
    fi
else
    say "booted again: pacelined $(systemctl is-enabled pacelined.service) $(systemctl is-active pacelined.service)"
fi
say "ready"

stty -F /dev/ttyS1 raw -echo
exec 3<>/dev/ttyS1
while IFS= read -r -u 3 line; do
    id=${line%% *}
    cmd=${line#* }
    out=$(bash -c "$cmd" 2>&1)
    rc=$?
    if [ -n "$out" ]; then
        printf '%s\n' "$out" | sed "s/^/OUT $id /" >&3
    fi
    printf 'END %s %s\n' "$id" "$rc" >&3
done
say "control port closed"
