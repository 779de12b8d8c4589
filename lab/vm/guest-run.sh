# Run in the guest by lab-provision (from the host's second disk): installs
# the package with dpkg, reports what it installed, then arms the i6300esb
# watchdog and stops feeding it, so that its expiry must power the VM off.
# Every line the host reads starts with "LAB: ".
set -u
cd /mnt/lab
echo "LAB: uptime $(cut -d' ' -f1 /proc/uptime) s at provisioning"
if dpkg -i ./paceline_*_amd64.deb >/tmp/dpkg.log 2>&1; then
    echo "LAB: deb installed $(dpkg-query -W -f='${Version}' paceline)"
else
    echo "LAB: FAIL dpkg -i"
    sed 's/^/LAB:   /' /tmp/dpkg.log
fi
echo "LAB: pacelined $(pacelined --version 2>&1)"
echo "LAB: group $(getent group haclient | cut -d: -f1)"
echo "LAB: state dir $(stat -c '%a %U' /var/lib/paceline 2>&1)"
echo "LAB: run dir $(stat -c '%a %U %G' /run/paceline 2>&1)"
echo "LAB: unit $(systemctl is-enabled pacelined.service 2>&1)"
echo "LAB: man $(ls /usr/share/man/man8 | grep -c '^paceline')"
# pacelined under the real systemd (Type=notify, WatchdogSec=, journald).
prop() { systemctl show -p "$1" --value pacelined.service; }
systemctl start pacelined.service >/dev/null 2>&1 || true
sleep 8
echo "LAB: example config: $(systemctl is-active pacelined.service) status $(prop ExecMainStatus) restarts $(prop NRestarts)"
systemctl reset-failed pacelined.service 2>/dev/null || true
paceline cluster keygen >/dev/null 2>&1
printf '%s\n' '[cluster]' 'name = "lab"' '[quorum]' 'two_node = true' \
    '[[node]]' 'name = "node1"' 'id = 1' 'links = ["127.0.0.1:5405"]' \
    '[[node]]' 'name = "node2"' 'id = 2' 'links = ["192.0.2.2:5405"]' \
    '[fencing]' 'enabled = false' > /etc/paceline/cluster.toml
# A short watchdog, so that the lab sees it both fed and expiring.
mkdir -p /etc/systemd/system/pacelined.service.d
printf '[Service]\nWatchdogSec=4s\n' > /etc/systemd/system/pacelined.service.d/lab.conf
systemctl daemon-reload
if systemctl start pacelined.service; then
    echo "LAB: started $(systemctl is-active pacelined.service)"
else
    echo "LAB: FAIL start"
    journalctl -u pacelined.service --no-pager | tail -n 20 | sed 's/^/LAB:   /'
fi
sleep 12
echo "LAB: fed for 12 s: $(systemctl is-active pacelined.service) restarts $(prop NRestarts)"
# Lines on the stream stderr would be priority 6: the native protocol's are 4.
warnings=$(journalctl -u pacelined.service -p 4..4 -o cat --no-pager | grep -c 'WARNING: fencing is disabled')
echo "LAB: journal fencing warnings at priority 4: $warnings"
pid=$(prop MainPID)
if [ -n "$pid" ] && [ "$pid" -gt 1 ]; then
    kill -STOP "$pid"
fi
hung=$(cut -d' ' -f1 /proc/uptime)
for _ in $(seq 1 90); do
    [ "$(prop NRestarts)" = 1 ] && [ "$(systemctl is-active pacelined.service)" = active ] && break
    sleep 1
done
waited=$(awk -v t="$hung" '{ printf "%d", $1 - t }' /proc/uptime)
echo "LAB: hung daemon: restarts $(prop NRestarts) $(systemctl is-active pacelined.service) after $waited s"
systemctl stop pacelined.service
leaves=$(journalctl -u pacelined.service --no-pager | grep -c 'left the cluster cleanly')
echo "LAB: stop: $(systemctl is-active pacelined.service) $leaves clean leave(s)"

identity=$(cat /sys/class/watchdog/watchdog0/identity 2>/dev/null || echo none)
echo "LAB: watchdog $identity"
if [ -c /dev/watchdog ]; then
    wdctl --settimeout 10 /dev/watchdog >/dev/null 2>&1 || true
    timeout=$(cat /sys/class/watchdog/watchdog0/timeout 2>/dev/null || echo unknown)
    # Opened, fed once, closed without the magic 'V': it keeps counting.
    printf 1 > /dev/watchdog
    echo "LAB: watchdog armed timeout $timeout s"
    sleep 600
fi
echo "LAB: done"
systemctl poweroff
