# spec/wireshark/relayd-loopback.pcapng was captured, as root with lttng-tools 2.13.9, by:
python3 scripts/capture_relayd_loopback.py --out spec/wireshark/relayd-loopback.pcapng --events 10
# which ran:
#   lttng-relayd --control-port=tcp://127.0.0.1:41545 --data-port=tcp://127.0.0.1:58073 --live-port=tcp://127.0.0.1:35319 --output=/tmp/ustref-lo-4yl8bcyf/relayd-output &  # then wait until its ports accept
#   tshark -q -i lo -w spec/wireshark/relayd-loopback.pcapng -f 'tcp port 41545 or tcp port 58073' &  # then wait for "Capturing on 'lo'"
#   lttng create s --set-url=net://127.0.0.1:41545:58073
#   lttng enable-channel -u --buffers-uid ch --subbuf-size=4096 --num-subbuf=2
#   lttng enable-event -u 'lttng_ust_tracef:*' --channel=ch
#   lttng start s
#   tracef_app 10
#   lttng stop s
#   lttng destroy s
#   # the session daemon stopped (its consumer with it)
#   # waited until no connection to the relay ports is open
#   # waited until the capture holds every connection's FINs
#   kill -INT 6066  # tshark, by pid
# Read it with (the relay daemon's ports were free ones, given as preferences):
tshark -X lua_script:spec/wireshark/ustref.lua -o lttcomm.relayd.control_port:41545 -o lttcomm.relayd.data_port:58073 -o lttng.viewer.port:35319 -r spec/wireshark/relayd-loopback.pcapng
# Control commands: RELAYD_VERSION, RELAYD_GET_CONFIGURATION, RELAYD_CREATE_SESSION, RELAYD_CREATE_TRACE_CHUNK, RELAYD_ADD_STREAM, RELAYD_STREAMS_SENT, RELAYD_SEND_METADATA, RELAYD_SEND_INDEX, RELAYD_BEGIN_DATA_PENDING, RELAYD_DATA_PENDING, RELAYD_QUIESCENT_CONTROL, RELAYD_END_DATA_PENDING, RELAYD_ROTATE_STREAMS, RELAYD_CLOSE_TRACE_CHUNK, RELAYD_TRACE_CHUNK_EXISTS, RELAYD_CLOSE_STREAM
# Data frames: 2; TCP payload bytes 4933, decoded 4933; expert infos: 0
