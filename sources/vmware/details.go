package vmware

import (
	"encoding/json"
	"fmt"
)

// Details are recorded as a VM snapshot's source details. They hold what
// the next incremental must check before trusting CBT, and never any
// credential.
type Details struct {
	VCenter string `json:"vcenter"` // host name only
	VM      string `json:"vm"`
	Moref   string `json:"moref"`
	// InstanceUUID tells a re-created VM of the same name apart.
	InstanceUUID string `json:"instance_uuid,omitempty"`
	VMX          string `json:"vmx"` // datastore path of the .vmx
	// CBTEnabled is set when this run had to turn CBT on.
	CBTEnabled bool `json:"cbt_enabled_now,omitempty"`
	// Quiesced says whether the VM snapshot was quiesced.
	Quiesced bool `json:"quiesced"`
	// Files lists the configuration files saved (node name -> datastore
	// path); a missing one is listed in Notes.
	Files map[string]string `json:"files,omitempty"`
	Disks []DiskDetails     `json:"disks"`
	// Notes are the messages of the run that a reader of the snapshot
	// should see (CBT enabled, leftover snapshot removed, fallbacks).
	Notes []string `json:"notes,omitempty"`
}

// DiskDetails describe one backed-up disk.
type DiskDetails struct {
	Key   int32  `json:"key"` // device key, stable for the VM's life
	Label string `json:"label,omitempty"`
	UUID  string `json:"uuid,omitempty"`
	// ChangeID is the disk's CBT changeId at this snapshot: the next
	// incremental asks for the changes since it.
	ChangeID  string `json:"change_id,omitempty"`
	Capacity  int64  `json:"capacity"`
	Datastore string `json:"datastore"`     // name
	DSMoref   string `json:"datastore_ref"` // moref
	Backing   string `json:"backing"`       // descriptor, "[ds] dir/x.vmdk"
	Flat      string `json:"flat"`          // flat extent path in the datastore
	// Node and Descriptor name the tree nodes of the data and descriptor.
	Node       string `json:"node"`
	Descriptor string `json:"descriptor,omitempty"`
	// Mode is "full" or "incremental"; Fallback says why a full read was
	// done although there was a parent.
	Mode     string `json:"mode"`
	Fallback string `json:"fallback,omitempty"`
	// ChangedBytes is what CBT reported (changed, or allocated on a full).
	ChangedBytes int64 `json:"changed_bytes"`
	// BytesRead is what was fetched over HTTP.
	BytesRead int64 `json:"bytes_read"`
}

// DetailsOf decodes the source details of a loaded snapshot (which JSON
// gave back as a generic map).
func DetailsOf(source any) (*Details, error) {
	if d, ok := source.(*Details); ok {
		return d, nil
	}
	b, err := json.Marshal(source)
	if err != nil {
		return nil, fmt.Errorf("vm snapshot details: %w", err)
	}
	var d Details
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("vm snapshot details: %w", err)
	}
	return &d, nil
}

// disk returns the parent's details of the disk with device key k.
func (d *Details) disk(k int32) *DiskDetails {
	if d == nil {
		return nil
	}
	for i := range d.Disks {
		if d.Disks[i].Key == k {
			return &d.Disks[i]
		}
	}
	return nil
}
