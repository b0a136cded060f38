package dev.refocus;

import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.ToLongFunction;

/**
 * The guards of many predictors counted as one: typically one group per model in an application, to which each
 * predictor made for a task or thread adds its {@link Guard}. The sums are read at any time from any thread (each
 * the sum of the guards' counters at about that moment), in Java or through JMX once {@link #register()}ed.
 * A guard stays in the group after its predictor is closed, so the sums keep what it counted.
 *
 * <pre>{@code
 * GuardGroup group = new GuardGroup("fashion-mlp").register();       // dev.refocus:type=GuardGroup,name=fashion-mlp
 * NativePredictor p = NativePredictor.create(network, config);
 * group.add(p.guard());
 * }</pre>
 *
 * <p><b>Note:</b> Thread-safe: guards may be added while others read the sums.
 */
public final class GuardGroup implements GuardGroupMXBean
{
    private final String name;
    private final List<Guard> guards = new CopyOnWriteArrayList<>();
    private volatile ObjectName registered;

    /** @param name the group's name, for JMX: letters, digits and {@code . _ -} only. */
    public GuardGroup(final String name)
    {
        Objects.requireNonNull(name, "name");
        if (!name.matches("[A-Za-z0-9._-]+"))
        {
            throw new IllegalArgumentException("a guard group's name takes letters, digits and . _ - only, got '"
                + name + "'");
        }
        this.name = name;
    }

    /**
     * @param guard a predictor's guard ({@link Predictor#guard()}); adding one twice counts it once.
     * @return this group.
     */
    public GuardGroup add(final Guard guard)
    {
        Objects.requireNonNull(guard, "guard");
        if (!guards.contains(guard))
        {
            guards.add(guard);
        }
        return this;
    }

    /**
     * Publishes the group in the platform MBean server as {@code dev.refocus:type=GuardGroup,name=<name>}.
     *
     * @return this group.
     * @throws IllegalStateException if a group of that name is registered already.
     */
    public GuardGroup register()
    {
        try
        {
            final ObjectName objectName = objectName();
            ManagementFactory.getPlatformMBeanServer().registerMBean(this, objectName);
            registered = objectName;
            return this;
        }
        catch (final InstanceAlreadyExistsException e)
        {
            throw new IllegalStateException("a guard group named " + name + " is registered already", e);
        }
        catch (final JMException e)
        {
            throw new IllegalStateException("cannot register the guard group " + name + ": " + e, e);
        }
    }

    /** Removes the group from the MBean server, if {@link #register()} put it there. */
    public void unregister()
    {
        final ObjectName objectName = registered;
        if (objectName == null)
        {
            return;
        }
        try
        {
            ManagementFactory.getPlatformMBeanServer().unregisterMBean(objectName);
        }
        catch (final InstanceNotFoundException e)
        {
            // unregistered by someone else: nothing to do
        }
        catch (final JMException e)
        {
            throw new IllegalStateException("cannot unregister the guard group " + name + ": " + e, e);
        }
        registered = null;
    }

    /** @return the name under which the group is (or would be) registered. */
    public ObjectName objectName()
    {
        try
        {
            return new ObjectName("dev.refocus:type=GuardGroup,name=" + name);
        }
        catch (final MalformedObjectNameException e)
        {
            throw new IllegalStateException(e); // the name's characters were checked
        }
    }

    @Override
    public String getName()
    {
        return name;
    }

    @Override
    public int getPredictors()
    {
        return guards.size();
    }

    @Override
    public long getSamples()
    {
        return sum(Guard::samples);
    }

    @Override
    public long getAdapted()
    {
        return sum(Guard::adapted);
    }

    @Override
    public long getChanged()
    {
        return sum(Guard::changed);
    }

    @Override
    public long getFellBack()
    {
        return sum(Guard::fellBack);
    }

    @Override
    public long getBypassed()
    {
        return sum(Guard::bypassed);
    }

    @Override
    public long getBandTrips()
    {
        return sum(Guard::bandTrips);
    }

    /** One counter summed over the guards (JMX reads: not a hot path). */
    private long sum(final ToLongFunction<Guard> counter)
    {
        long sum = 0;
        for (final Guard g : guards)
        {
            sum += counter.applyAsLong(g);
        }
        return sum;
    }

    @Override
    public int getTrippedPredictors()
    {
        int n = 0;
        for (final Guard g : guards)
        {
            n += g.isTripped() ? 1 : 0;
        }
        return n;
    }

    @Override
    public void resetBands()
    {
        for (final Guard g : guards)
        {
            g.resetBand();
        }
    }

    @Override
    public String toString()
    {
        return "GuardGroup[" + name + ": " + getPredictors() + " predictors, samples=" + getSamples() + ", adapted="
            + getAdapted() + ", changed=" + getChanged() + ", fellBack=" + getFellBack() + ", bypassed="
            + getBypassed() + ", bandTrips=" + getBandTrips() + ", tripped=" + getTrippedPredictors() + "]";
    }
}
