package vmware

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// vmProps are the VM properties a backup reads.
var vmProps = []string{"name", "config", "snapshot", "layoutEx"}

// findVM resolves a VM by moref value (when given) or by name; a name
// that matches several VMs is an error.
func (c *Client) findVM(ctx context.Context, name, moref string) (types.ManagedObjectReference, error) {
	if moref != "" {
		return types.ManagedObjectReference{Type: "VirtualMachine", Value: moref}, nil
	}
	if name == "" {
		return types.ManagedObjectReference{}, fmt.Errorf("no VM given: name or moref")
	}
	refs, err := c.findByName(ctx, "VirtualMachine", name)
	if err != nil {
		return types.ManagedObjectReference{}, fmt.Errorf("find VM %q: %w", name, err)
	}
	switch len(refs) {
	case 0:
		return types.ManagedObjectReference{}, fmt.Errorf("no VM named %q", name)
	case 1:
		return refs[0], nil
	}
	return types.ManagedObjectReference{}, fmt.Errorf("%d VMs are named %q: give --vm-moref", len(refs), name)
}

// findByName lists the managed objects of a type ("VirtualMachine",
// "Datastore") with the given name, through a container view.
func (c *Client) findByName(ctx context.Context, kind, name string) ([]types.ManagedObjectReference, error) {
	m := view.NewManager(c.vim)
	v, err := m.CreateContainerView(ctx, c.vim.ServiceContent.RootFolder, []string{kind}, true)
	if err != nil {
		return nil, err
	}
	defer v.Destroy(context.WithoutCancel(ctx))
	return v.Find(ctx, []string{kind}, property.Match{"name": name})
}

// loadVM retrieves the VM's properties.
func (c *Client) loadVM(ctx context.Context, ref types.ManagedObjectReference) (*mo.VirtualMachine, error) {
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, ref, vmProps, &vm); err != nil {
		return nil, fmt.Errorf("VM %s: %w", ref.Value, err)
	}
	if vm.Config == nil {
		return nil, fmt.Errorf("VM %s has no configuration (inaccessible?)", ref.Value)
	}
	return &vm, nil
}

// datacenterPath returns the inventory path of the datacenter of a VM or
// datastore, as the /folder endpoint's dcPath wants it ("DC0",
// "folder/DC0").
func (c *Client) datacenterPath(ctx context.Context, ref types.ManagedObjectReference) (string, error) {
	_, p, err := c.datacenterOf(ctx, ref)
	return p, err
}

// datacenterOf returns the datacenter of a VM or datastore and its
// inventory path.
func (c *Client) datacenterOf(ctx context.Context, ref types.ManagedObjectReference) (*object.Datacenter, string, error) {
	anc, err := mo.Ancestors(ctx, c.vim, c.vim.ServiceContent.PropertyCollector, ref)
	if err != nil {
		return nil, "", fmt.Errorf("ancestors of %s: %w", ref.Value, err)
	}
	var parts []string
	for _, e := range anc {
		if e.Self == c.vim.ServiceContent.RootFolder {
			continue
		}
		parts = append(parts, e.Name)
		if e.Self.Type == "Datacenter" {
			p := strings.Join(parts, "/")
			dc := object.NewDatacenter(c.vim, e.Self)
			dc.InventoryPath = "/" + p
			return dc, p, nil
		}
	}
	return nil, "", fmt.Errorf("%s %s is in no datacenter", ref.Type, ref.Value)
}
