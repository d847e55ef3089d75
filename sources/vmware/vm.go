package vmware

import (
	"context"
	"fmt"
	"strings"

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
	m := view.NewManager(c.vim)
	v, err := m.CreateContainerView(ctx, c.vim.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return types.ManagedObjectReference{}, fmt.Errorf("find VM %q: %w", name, err)
	}
	defer v.Destroy(context.WithoutCancel(ctx))
	refs, err := v.Find(ctx, []string{"VirtualMachine"}, property.Match{"name": name})
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

// datacenterPath returns the inventory path of the VM's datacenter, as the
// /folder endpoint's dcPath wants it ("DC0", "folder/DC0").
func (c *Client) datacenterPath(ctx context.Context, ref types.ManagedObjectReference) (string, error) {
	anc, err := mo.Ancestors(ctx, c.vim, c.vim.ServiceContent.PropertyCollector, ref)
	if err != nil {
		return "", fmt.Errorf("ancestors of %s: %w", ref.Value, err)
	}
	var parts []string
	for _, e := range anc {
		if e.Self == c.vim.ServiceContent.RootFolder {
			continue
		}
		parts = append(parts, e.Name)
		if e.Self.Type == "Datacenter" {
			return strings.Join(parts, "/"), nil
		}
	}
	return "", fmt.Errorf("VM %s is in no datacenter", ref.Value)
}
