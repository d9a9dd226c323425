module inet.af/netaddr

go 1.22

require go4.org/netipx v0.0.0-20231129151722-fdeea329fbba
