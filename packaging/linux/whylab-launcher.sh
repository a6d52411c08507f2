#!/bin/sh
# /usr/bin/whylab: start the bundled WhyLab installed in /opt/whylab.
exec /opt/whylab/whylab "$@"
