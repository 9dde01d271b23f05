from typing import NewType
ChannelKey = NewType("ChannelKey", int)
SessionId = NewType("SessionId", int)
RelaydId = NewType("RelaydId", int)      # net_seq_index; (u64)-1 means "local"
ChunkId = NewType("ChunkId", int)
StreamKey = NewType("StreamKey", int)
