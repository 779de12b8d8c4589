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
